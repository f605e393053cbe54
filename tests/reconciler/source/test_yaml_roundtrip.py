"""Property: the position-keeping converter reads what PyYAML writes exactly as PyYAML does."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.yamldocs import Origin, escape_pointer_token, parse_documents
from schemas.kinds import Limits

keys = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=8)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.text(max_size=12)
    | st.floats(allow_nan=False, allow_infinity=False)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=25,
)


def pointers(value: object, prefix: str = "") -> list[str]:
    """Every JSON pointer below `value`."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, child in value.items():
            here = f"{prefix}/{escape_pointer_token(key)}"
            found += [here, *pointers(child, here)]
    elif isinstance(value, list):
        for index, child in enumerate(value):
            here = f"{prefix}/{index}"
            found += [here, *pointers(child, here)]
    return found


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(keys, values, min_size=1, max_size=5))
def test_converter_agrees_with_pyyaml(data: dict[str, object]) -> None:
    """Dumped data parses back to the same value as yaml.safe_load, with a position for every value."""
    text = yaml.safe_dump(data, allow_unicode=True)
    [document], diagnostics = parse_documents(text, Origin("f.yaml"), Limits())
    assert diagnostics == []
    assert document.data == yaml.safe_load(text)
    assert set(pointers(document.data)) <= set(document.positions)
