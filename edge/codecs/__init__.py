"""Hand-written codecs for the field protocols (pure: bytes in, values out)."""


class FrameError(ValueError):
    """A frame or packet that breaks its protocol; `reason` is a short word for counters."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
