class IdConverter:
    """Like Django's `int`, but at most 18 digits: a longer number is no id of ours (404, not 500)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)
