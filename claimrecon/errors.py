"""Errors a run reports as one clear line. Messages never carry record values (PHI)."""


class ClaimreconError(Exception):
    """Base: the CLI prints ``str(error)`` as the one-line reason and exits non-zero."""


class RunRefused(ClaimreconError):
    """An input cannot be trusted (FE-CONTROL, unreadable inbox): the run publishes nothing."""


class WarehouseBusy(ClaimreconError):
    """Another run holds the writer's lock on this warehouse."""


class BalanceError(ClaimreconError):
    """billed != paid + adjustments somewhere: the run fails loudly and publishes nothing."""
