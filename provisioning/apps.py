from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "provisioning"

    def ready(self) -> None:
        # Audit sits below provisioning and cannot import the step registry: hand it the names
        # its audit log's step filter offers, in the registry's order.
        from audit.step_names import step_names_register
        from provisioning.steps import CHANGE_STEPS, STEPS

        every = (*STEPS.values(), *CHANGE_STEPS.values())
        step_names_register(names=(str(name) for steps in every for name in steps))
