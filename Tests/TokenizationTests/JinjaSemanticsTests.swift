import Foundation
import Tokenization
import XCTest

/// Corners of jinja2's behaviour, each expected string as jinja2 3.1.6 renders it with
/// transformers' environment (trim_blocks, lstrip_blocks).
final class JinjaSemanticsTests: XCTestCase {
    private func render(_ source: String, _ variables: [String: String] = [:], messages: [CheckpointChatTemplate.Message] = []) throws -> String {
        var template = try CheckpointChatTemplate(source: source, specialTokens: [:], origin: "test")
        template.variables = variables
        return try template.render(messages: messages, addGenerationPrompt: false)
    }

    func testScopes_loopAssignmentsStayInTheIteration() throws {
        XCTAssertEqual(try render("{% for i in [1,2] %}[{{ x }}]{% set x = i %}{% endfor %}{{x}}"), "[][]")
        XCTAssertEqual(try render("{% set x = 5 %}{% for i in [1,2] %}[{{ x }}]{% set x = i %}{% endfor %}{{x}}"), "[5][5]5")
        XCTAssertEqual(try render("{% set ns = namespace(n=0) %}{% for i in [1,2,3] %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}"), "6")
    }

    func testValues_printAsPythonStrDoes() throws {
        XCTAssertEqual(try render(#"{{ [1,2] ~ 3 }} {{ {"a": 1.0} }} {{ none }} {{ true }} {{ 1/2 }} {{ 4/2 }} {{ 7//2 }} {{ -7 % 3 }} {{ 2**10 }} {{ "ab" * 2 }}"#),
                       "[1, 2]3 {'a': 1.0} None True 0.5 2.0 3 2 1024 abab")
        XCTAssertEqual(try render(#"{{ x|default("d") }} {{ none|default("d") }} {{ ""|default("d", true) }}"#), "d None d")
        XCTAssertEqual(try render(#"{{ "a" == "a" }} {{ 1 == 1.0 }} {{ true == 1 }} {{ a == b }}"#), "True True True True")
        XCTAssertEqual(try render(#"{{ "abc"[::-1] }} {{ [1,2,3][1:] }} {{ "abc"[-1] }} {{ none.b }}|{{ (a|length) }}"#), "cba [2, 3] c |0")
    }

    func testFiltersAndMethods() throws {
        XCTAssertEqual(try render(#"{{ "  x " | trim }}|{{ "a,b".split(",") }}|{{ [1,"a"] | tojson }}|{{ {"k": [1, 2.5, none, true]} | tojson(indent=2) }}"#),
                       "x|['a', 'b']|[1, \"a\"]|{\n  \"k\": [\n    1,\n    2.5,\n    null,\n    true\n  ]\n}")
        XCTAssertEqual(try render(#"{{ "é \"q\"\n" | tojson }}"#), #""é \"q\"\n""#)
        XCTAssertEqual(try render(#"{{ x is none }} {{ none is none }} {{ "" is string }} {{ [] is iterable }} {{ {} is mapping }} {{ true is number }}"#),
                       "False True True True True True")
        XCTAssertEqual(try render("{% for m in messages | selectattr('role', 'equalto', 'user') %}{{ m.content }}{% endfor %}",
                                  messages: [.init(role: "user", content: "u"), .init(role: "assistant", content: "a")]), "u")
        XCTAssertEqual(try render("{% for k, v in {'a': 1, 'b': 2} | items %}{{k}}={{v}};{% endfor %}"), "a=1;b=2;")
        XCTAssertEqual(try render("{{ 'hello world'.title() }} {{ 'x'.upper() }} {{ ' a b '.split() }} {{ 'ab'.startswith(('x', 'a')) }}"),
                       "Hello World X ['a', 'b'] True")
    }

    func testWhitespaceControl_trimAndLstripBlocks() throws {
        XCTAssertEqual(try render("a\n  {% if true %}\n  b\n  {% endif %}\nc\n"), "a\n  b\nc")
        XCTAssertEqual(try render("a  {{- ' b ' -}}  c"), "a b c")
        XCTAssertEqual(try render("  {#- note #}\nx {%+ if true %}y{% endif +%}\nz"), "x y\nz")
        XCTAssertEqual(try render("{% for i in [1,2,3] if i != 2 %}{{ loop.index }}{{ i }}{{ ',' if not loop.last }}{% else %}none{% endfor %}"), "11,23")
        XCTAssertEqual(try render("{% for i in [] %}x{% else %}empty{% endfor %}"), "empty")
        XCTAssertEqual(try render("{% for i in [1,2,3,4] %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}{% endif %}{{ i }}{% endfor %}"), "13")
    }
}
