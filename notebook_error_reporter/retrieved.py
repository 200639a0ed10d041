"""What ``retrieve_errors()`` returns, whatever the backend: the reports, readable as a table.

It is a plain list of report dicts (oldest first, as they happened), so code can count, index and
iterate it and ``json.dumps`` it; in a notebook it shows as an HTML table and in a terminal as
aligned text, both newest first with times in the local time zone (see ``report_table``).
"""

from __future__ import annotations

from typing import Any, Dict, List, SupportsIndex, Union, overload

from .report_table import to_html, to_text


class RetrievedErrors(List[Dict[str, Any]]):
    """A list of report dicts that shows as a readable table in Jupyter, Colab and a terminal.

    A slice (``errors[-5:]``) is one too, so it shows as a table as well.
    """

    @overload
    def __getitem__(self, index: SupportsIndex) -> Dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> RetrievedErrors: ...

    def __getitem__(self, index: Union[SupportsIndex, slice]) -> Union[Dict[str, Any], RetrievedErrors]:
        if isinstance(index, slice):
            return RetrievedErrors(super().__getitem__(index))
        return super().__getitem__(index)

    def _repr_html_(self) -> str:
        return to_html(self)

    def __repr__(self) -> str:
        return to_text(self)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(to_text(self))
