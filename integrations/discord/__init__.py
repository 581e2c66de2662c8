"""Discord REST API v10 client (plain ``requests``)."""
