"""``parse_xml`` (functions.md §3)."""
import pytest

from orion_builtins.functions import parse_xml
from orion_builtins.functions.parse_xml import xml_to_json
from orion_kernel import ValidationFailure

(FN,) = parse_xml.orion_task_functions()


async def test_worked_example(run):
    payload = '<order id="9"><sku>A1</sku><sku>B2</sku><qty>2</qty></order>'
    ctx, result = await run(FN, {"source": "payload", "target": "order"}, payload=payload)
    assert result is None
    assert ctx.data == {"order": {"@id": "9", "sku": ["A1", "B2"], "qty": "2"}}
    assert ctx.changes == [{"path": "data.order", "old_value": None, "new_value": ctx.data["order"]}]


@pytest.mark.parametrize(
    ("xml", "expected"),
    [
        ("<a>x</a>", "x"),  # root name dropped; text-only → its string
        ("<a><age>30</age><ok>true</ok></a>", {"age": "30", "ok": "true"}),  # no type inference
        ("<a><e/><f></f></a>", {"e": "", "f": ""}),  # empty elements
        ("<a/>", ""),
        ('<a><p id="7">hi</p></a>', {"p": {"@id": "7", "$text": "hi"}}),  # attrs + text
        ('<a><p id="7"/></a>', {"p": {"@id": "7"}}),
        ("<a>note<b>1</b></a>", {"b": "1", "$text": "note"}),  # text beside children
        (
            "<a><i><n>1</n></i><i><n>2</n></i><i><n>3</n></i></a>",
            {"i": [{"n": "1"}, {"n": "2"}, {"n": "3"}]},
        ),
        ("<a><x>1</x><y>2</y><x>3</x></a>", {"x": ["1", "3"], "y": "2"}),  # document order per name
        ('<ns:a xmlns:ns="urn:x"><ns:item>1</ns:item></ns:a>', {"@xmlns:ns": "urn:x", "ns:item": "1"}),
        ("<ns:a><ns:item>1</ns:item></ns:a>", {"ns:item": "1"}),  # prefixes verbatim, even undeclared
        ('<a xml:lang="en" b="&amp;&lt;&quot;"/>', {"@xml:lang": "en", "@b": '&<"'}),
        ("<a>&#233;&#x41;<![CDATA[<raw>]]></a>", "éA<raw>"),
    ],
)
def test_conversion_rules(xml, expected):
    assert xml_to_json(xml) == expected


def test_declaration_comments_processing_instructions_and_layout_whitespace_are_ignored():
    xml = """<?xml version="1.0" encoding="ISO-8859-1"?>
<!-- a comment -->
<order>
  <?app hint?>
  <name>  Ann Lee </name>
  <city>Zürich</city>
</order>
"""
    assert xml_to_json(xml) == {"name": "Ann Lee", "city": "Zürich"}


async def test_source_resolution_matches_parse_json(run):
    ctx, _ = await run(FN, {"source": "data.raw", "target": "doc"}, data={"raw": "<r><v>1</v></r>"})
    assert ctx.data["doc"] == {"v": "1"}
    ctx, _ = await run(FN, {"source": "payload.body", "target": "doc"}, payload={"body": "<r>t</r>"})
    assert ctx.data == {"doc": "t"}


@pytest.mark.parametrize("payload", [{"xml": 1}, {"not": "a string"}])
async def test_source_not_a_string_is_a_validation_failure(run, payload):
    ctx, result = await run(FN, {"source": "payload.xml", "target": "doc"}, payload=payload)
    assert isinstance(result, ValidationFailure)
    assert str(result) == "Validation error: ParseXml: Source 'payload.xml' is not a string"
    assert ctx.changes == [] and ctx.data == {}


@pytest.mark.parametrize(
    ("xml", "reason"),
    [
        ("<a><b></a>", "mismatched tag: line 1, column 8"),
        ("", "no element found: line 1, column 0"),
        ("<a/><b/>", "junk after document element: line 1, column 4"),
        ("<a>&nope;</a>", "undefined entity: line 1, column 3"),
    ],
)
async def test_malformed_xml_is_a_validation_failure(run, xml, reason):
    ctx, result = await run(FN, {"source": "payload", "target": "doc"}, payload=xml)
    assert isinstance(result, ValidationFailure)
    assert str(result) == f"Validation error: Failed to parse XML: {reason}"
    assert ctx.changes == []


async def test_entity_declarations_are_rejected(run):
    bomb = '<!DOCTYPE a [<!ENTITY x "xxxxxxxx"><!ENTITY y "&x;&x;&x;&x;">]><a>&y;</a>'
    _, result = await run(FN, {"source": "payload", "target": "doc"}, payload=bomb)
    assert str(result) == "Validation error: Failed to parse XML: entity declarations are not allowed"


def test_external_entities_are_never_loaded():
    assert xml_to_json('<!DOCTYPE a SYSTEM "http://127.0.0.1:9/x.dtd"><a>&ext;</a>') == ""


def test_deep_documents_do_not_exhaust_the_stack():
    depth = 3000
    value = xml_to_json("<r>" * depth + "x" + "</r>" * depth)
    for _ in range(depth - 1):
        value = value["r"]
    assert value == "x"


def test_input_requires_source_and_target(input_errors):
    assert [e[:2] for e in input_errors(FN, {})] == [
        ("function.input.source", "REQUIRED"),
        ("function.input.target", "REQUIRED"),
    ]
    assert input_errors(FN, {"source": "payload", "target": 3})[0][1] == "TYPE_MISMATCH"


def test_registration():
    assert (FN.name, FN.category) == ("parse_xml", "parse")
