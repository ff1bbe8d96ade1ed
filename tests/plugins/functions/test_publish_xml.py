"""``publish_xml`` (functions.md §8)."""
import pytest

from orion_builtins.functions import publish_xml
from orion_builtins.functions.publish_xml import sanitize_name, to_xml_text
from orion_kernel import ValidationFailure

(FN,) = publish_xml.orion_task_functions()


async def test_worked_example(run):
    data = {"user": {"name": "Al & Co", "tags": ["a", "b"], "age": 30}}
    ctx, result = await run(FN, {"source": "user", "target": "xml", "root_element": "User"}, data=data)
    assert result is None
    expected = "<User><name>Al &amp; Co</name><tags><item>a</item><item>b</item></tags><age>30</age></User>"
    assert ctx.data["xml"] == expected
    assert ctx.changes == [{"path": "data.xml", "old_value": None, "new_value": expected}]


@pytest.mark.parametrize(
    ("value", "xml"),
    [
        ({"a": 1}, "<root><a>1</a></root>"),
        ([1, "x"], "<root><item>1</item><item>x</item></root>"),
        ("text", "<root>text</root>"),
        (7, "<root>7</root>"),
        (3.0, "<root>3.0</root>"),
        (False, "<root>false</root>"),
        ({"t": True, "n": None, "f": 2.5}, "<root><t>true</t><n></n><f>2.5</f></root>"),
        ({"o": {"p": {"q": "r"}}}, "<root><o><p><q>r</q></p></o></root>"),
        ({"m": [[1, 2], {"k": "v"}]}, "<root><m><item><item>1</item><item>2</item></item><item><k>v</k></item></m></root>"),
        ([], "<root></root>"),
        ({"e": {}}, "<root><e></e></root>"),
        ("&<>\"'", "<root>&amp;&lt;&gt;&quot;&apos;</root>"),
    ],
)
def test_conversion_rules(value, xml):
    assert to_xml_text(value) == xml


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("123field", "_123field"),
        ("field name", "field_name"),
        ("@id", "_id"),
        ("", "_element"),
        ("_ok", "_ok"),
        ("a-b.c_d9", "a-b.c_d9"),
        ("-x", "_x"),
        (".x", "_x"),
        ("a@b:c", "a_b_c"),
        ("é", "_"),
        ("naïve", "na_ve"),
        ("9", "_9"),
    ],
)
def test_key_sanitisation(key, name):
    assert sanitize_name(key) == name


def test_root_element_is_used_verbatim():
    assert to_xml_text({"1": "x"}, "ns:Doc") == "<ns:Doc><_1>x</_1></ns:Doc>"


async def test_pretty_is_ignored_and_source_resolution_matches_publish_json(run):
    data = {"a.b": {"x": 1}, "a": {"b": {"x": 2}}}
    ctx, _ = await run(FN, {"source": "a.b", "target": "out", "pretty": True}, data=data)
    assert ctx.data["out"] == "<root><x>1</x></root>"
    ctx, _ = await run(FN, {"source": "data.a.b", "target": "out"}, data={"a": {"b": {"x": 3}}})
    assert ctx.data["out"] == "<root><x>3</x></root>"


@pytest.mark.parametrize("data", [{}, {"x": None}])
async def test_missing_or_null_source_fails(run, data):
    ctx, result = await run(FN, {"source": "x", "target": "out"}, data=data)
    assert isinstance(result, ValidationFailure)
    assert str(result) == "Validation error: PublishXml: Source 'data.x' not found or is null"
    assert ctx.changes == []


def test_deep_values_do_not_exhaust_the_stack():
    value: dict = {}
    node = value
    for _ in range(3000):
        node["n"] = {}
        node = node["n"]
    xml = to_xml_text(value)
    assert xml.startswith("<root><n><n>") and xml.endswith("</n></n></root>")


def test_input_rules(input_errors, prepare):
    assert [e[:2] for e in input_errors(FN, {})] == [("function.input.source", "REQUIRED"), ("function.input.target", "REQUIRED")]
    assert [e[:2] for e in input_errors(FN, {"source": "s", "target": "t", "root_element": 1})] == [
        ("function.input.root_element", "TYPE_MISMATCH")
    ]
    assert prepare(FN, {"source": "s", "target": "t"})["root_element"] == "root"


def test_registration():
    assert (FN.name, FN.category) == ("publish_xml", "output")
