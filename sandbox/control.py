"""Control endpoints of the sandbox, under ``/_sandbox`` and without authentication.

They stand in for what people do on the real platforms (staff create a Discord server and add the
bot; an organization exists on some plan) and let tests and the demo reset the state, inject
faults, and read the state and the log of requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.http import BadJson, Request, Response, Router

if TYPE_CHECKING:
    from sandbox.core import Sandbox


def build_control_router(sandbox: Sandbox) -> Router:
    from sandbox.core import Faults

    router = Router()

    def body(request: Request) -> dict[str, Any]:
        try:
            data = request.json() or {}
        except BadJson as exc:
            raise ControlError(f"invalid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ControlError("expected a JSON object")
        return data

    def guarded(handler: Any) -> Any:
        def wrapper(request: Request) -> Response:
            try:
                with sandbox.lock:
                    return handler(request)
            except LookupError as exc:
                if isinstance(exc, KeyError):  # a missing key in a body, not a missing object
                    return Response(400, {"message": f"missing {exc}"})
                return Response(404, {"message": str(exc)})
            except (ControlError, ValueError, TypeError) as exc:
                return Response(400, {"message": str(exc)})

        return wrapper

    @guarded
    def reset(request: Request) -> Response:
        sandbox.reset(body(request))
        return Response(200, {"reset": True})

    @guarded
    def configure(request: Request) -> Response:
        for name, options in body(request).items():
            if name not in sandbox.platforms:
                raise ControlError(f"unknown platform {name!r}")
            sandbox.platforms[name].configure(options)
        return Response(200, {"configured": True})

    @guarded
    def create_guild(request: Request) -> Response:
        guild = sandbox.platforms["discord"].staff_create_guild(**body(request))
        return Response(201, guild)

    @guarded
    def create_org(request: Request) -> Response:
        org = sandbox.platforms["github"].staff_create_org(**body(request))
        return Response(201, org)

    @guarded
    def get_faults(request: Request) -> Response:
        return Response(200, sandbox.faults.to_dict())

    @guarded
    def put_faults(request: Request) -> Response:
        sandbox.set_faults(Faults.from_dict(body(request)))
        return Response(200, sandbox.faults.to_dict())

    @guarded
    def clear_faults(request: Request) -> Response:
        sandbox.set_faults(Faults())
        return Response(204)

    @guarded
    def state(request: Request) -> Response:
        data = {name: platform.snapshot() for name, platform in sandbox.platforms.items()}
        data["faults"] = sandbox.faults.to_dict()
        return Response(200, data)

    @guarded
    def requests_log(request: Request) -> Response:
        since = int(request.query.get("since", "0"))
        return Response(200, [entry for entry in sandbox.log if entry["id"] > since])

    # -- drift: people changing things behind the app's back ------------------------------------
    discord = sandbox.platforms["discord"]
    github = sandbox.platforms["github"]

    @guarded
    def drop_channel(request: Request) -> Response:
        discord.staff_delete_channel(request.params["channel_id"])
        return Response(204)

    @guarded
    def drop_overwrite(request: Request) -> Response:
        discord.staff_drop_overwrite(request.params["channel_id"], request.params["overwrite_id"])
        return Response(204)

    @guarded
    def drop_role(request: Request) -> Response:
        discord.staff_delete_role(request.params["guild_id"], request.params["role_id"])
        return Response(204)

    @guarded
    def kick_bot(request: Request) -> Response:
        discord.staff_remove_bot(request.params["guild_id"])
        return Response(204)

    @guarded
    def edit_repo(request: Request) -> Response:
        changes = body(request)
        unknown = set(changes) - {"name", "private", "archived", "description"}
        if unknown:
            raise ControlError(f"unknown repository fields: {', '.join(sorted(unknown))}")
        repo = github.staff_edit_repo(
            request.params["owner"],
            request.params["repo"],
            new_name=changes.get("name"),
            private=changes.get("private"),
            archived=changes.get("archived"),
            description=changes.get("description"),
        )
        return Response(200, repo)

    @guarded
    def drop_repo(request: Request) -> Response:
        github.staff_delete_repo(request.params["owner"], request.params["repo"])
        return Response(204)

    @guarded
    def drop_protection(request: Request) -> Response:
        params = request.params
        github.staff_remove_protection(params["owner"], params["repo"], params["branch"])
        return Response(204)

    # -- people acting on github.com: accepting invitations, blocking, time passing -------------
    @guarded
    def accept_github_invitation(request: Request) -> Response:
        from sandbox.github import people

        data = body(request)
        unknown = set(data) - {"invitation_id", "login"}
        if unknown:
            raise ControlError(f"unknown fields: {', '.join(sorted(unknown))}")
        accepted = people.accept_invitation(
            github, request.params["org"], invitation_id=data.get("invitation_id"),
            login=data.get("login"),
        )  # fmt: skip
        return Response(200, accepted)

    @guarded
    def block_github_org(request: Request) -> Response:
        from sandbox.github import people

        people.block(github, request.params["org"], request.params["login"])
        return Response(204)

    @guarded
    def add_github_member(request: Request) -> Response:
        from sandbox.github import people

        people.add_member(github, request.params["org"], request.params["login"])
        return Response(204)

    @guarded
    def advance_github_clock(request: Request) -> Response:
        from sandbox.github import people

        offset = people.advance_clock(github, body(request).get("seconds"))
        return Response(200, {"offset": offset})

    @guarded
    def accept_discord_invite(request: Request) -> Response:
        data = body(request)
        if set(data) != {"username"}:
            raise ControlError('expected {"username": ...}')
        return Response(200, discord.staff_accept_invite(request.params["code"], data["username"]))

    router.add("POST", "/discord/invites/{code}/accept", accept_discord_invite)
    router.add("POST", "/github/orgs/{org}/accept", accept_github_invitation)
    router.add("PUT", "/github/orgs/{org}/blocked/{login}", block_github_org)
    router.add("PUT", "/github/orgs/{org}/members/{login}", add_github_member)
    router.add("POST", "/github/clock", advance_github_clock)
    router.add("POST", "/reset", reset)
    router.add("PATCH", "/config", configure)
    router.add("POST", "/discord/guilds", create_guild)
    router.add("POST", "/github/orgs", create_org)
    router.add("GET", "/faults", get_faults)
    router.add("PUT", "/faults", put_faults)
    router.add("DELETE", "/faults", clear_faults)
    router.add("GET", "/state", state)
    router.add("GET", "/requests", requests_log)
    router.add("DELETE", "/discord/channels/{channel_id}", drop_channel)
    router.add("DELETE", "/discord/channels/{channel_id}/overwrites/{overwrite_id}", drop_overwrite)
    router.add("DELETE", "/discord/guilds/{guild_id}/roles/{role_id}", drop_role)
    router.add("DELETE", "/discord/guilds/{guild_id}/bot", kick_bot)
    router.add("PATCH", "/github/repos/{owner}/{repo}", edit_repo)
    router.add("DELETE", "/github/repos/{owner}/{repo}", drop_repo)
    router.add("DELETE", "/github/repos/{owner}/{repo}/branches/{branch:path}/protection",
               drop_protection)  # fmt: skip
    return router


class ControlError(Exception):
    """A control request that makes no sense; answered 400 with the message."""
