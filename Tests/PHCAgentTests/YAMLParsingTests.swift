import PHCConfig
import Testing

/// The YAML layer over libyaml: the errors are pinned as they were when Yams read the files, so
/// that replacing the parser changed no message a user sees.
@Suite("YAML parsing")
struct YAMLParsingTests {
    @Test(
        "a broken file is one line naming where libyaml stopped, worded as before",
        arguments: [
            (
                "device: x\nchecks:\n  mounts: [\n    - path: /a\n",
                "t.yaml:4:5: YAML syntax error: did not find expected node content (while parsing a flow node at line 4)"
            ),
            ("a: b: c\n", "t.yaml:1:5: YAML syntax error: mapping values are not allowed in this context"),
            (
                "key: \"unterminated\n",
                "t.yaml:2:1: YAML syntax error: found unexpected end of stream (while scanning a quoted scalar at line 1)"
            ),
            ("a: 1\na: 2\n", "t.yaml:1:1: duplicate key a (each key may appear once)"),
            ("b: 1\na: 2\nb: 3\na: 4\n", "t.yaml:2:1: duplicate key a, b (each key may appear once)"),
            ("a: {b: 1, b: 2}\n", "t.yaml:1:5: duplicate key b (each key may appear once)"),
            ("a: *nope\n", "t.yaml:1:4: YAML syntax error: found undefined alias"),
            (
                "a: 1\n---\nb: 2\n",
                "t.yaml:2:1: YAML syntax error: but found another document (expected a single document in the stream at line 1)"
            ),
            (
                "\tkey: 1\n",
                "t.yaml:1:1: YAML syntax error: found character that cannot start any token (while scanning for the next token at line 1)"
            ),
            (
                "- a\nb: c\n",
                "t.yaml:2:1: YAML syntax error: did not find expected '-' indicator (while parsing a block collection at line 1)"
            ),
            (
                "a:\n  - b\n c: d\n",
                "t.yaml:3:2: YAML syntax error: did not find expected key (while parsing a block mapping at line 1)"
            ),
            ("a: \u{07}\n", "t.yaml: cannot read YAML: control characters are not allowed"),
            (
                "é: [1, 2\n",
                "t.yaml:2:1: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 1)"
            ),
            (
                "a: !!binary xyz\nb: '\n",
                "t.yaml:3:1: YAML syntax error: found unexpected end of stream (while scanning a quoted scalar at line 2)"
            ),
            ("%YAML 1.1\n%YAML 1.1\n---\na: 1\n", "t.yaml:2:1: YAML syntax error: found duplicate %YAML directive"),
        ])
    func brokenFiles(text: String, expected: String) {
        let error = #expect(throws: ConfigError.self) { try ConfigDocument(text: text, file: "t.yaml") }
        #expect(error?.description == expected)
    }

    @Test("values keep their text, quoting and position; aliases read as what they name; empty is an empty mapping")
    func shapes() throws {
        let text = "base: &b {path: /a, quoted: \"true\"}\ncopy: *b\nlist:\n  - one\n  - 'two'\n&x anchored: yes\n"
        let document = try ConfigDocument(text: text, file: "s.yaml")
        let root = try #require(document.root.mapping(allowedKeys: ["base", "copy", "list", "anchored"]))
        let copy = try #require(root["copy"]?.mapping(allowedKeys: ["path", "quoted"]))
        #expect(copy["path"]?.string() == "/a" && copy["path"]?.isQuoted == false)
        #expect(copy["quoted"]?.string() == "true" && copy["quoted"]?.isQuoted == true)
        #expect(copy["path"]?.line == 1)
        let list = try #require(root["list"]?.sequence())
        #expect(list.map { $0.string() } == ["one", "two"] && list.map(\.line) == [4, 5])
        #expect(list.map(\.keyPath) == ["list[0]", "list[1]"])
        #expect(root["anchored"]?.bool() == true)
        #expect(document.issues.isEmpty)

        let empty = try ConfigDocument(text: "# nothing but a comment\n", file: "e.yaml")
        #expect(empty.root.mapping(allowedKeys: [])?.contains("x") == false && empty.issues.isEmpty)
        let nulls = try ConfigDocument(text: "a: ~\nb:\nc: null\nd: 'null'\n", file: "n.yaml")
        let entries = try #require(nulls.root.mapping(allowedKeys: ["a", "b", "c", "d"]))
        #expect(entries["a"] == nil && entries["b"] == nil && entries["c"] == nil && entries["d"]?.string() == "null")
    }

    @Test("a key that is a list is refused by name, and aliases that expand past the cap are refused, not walked")
    func oddKeysAndAliasBombs() throws {
        let listKey = try ConfigDocument(text: "? [a]\n: b\n", file: "k.yaml")
        _ = listKey.root.mapping(allowedKeys: ["a"])
        #expect(listKey.issues.map(\.description) == ["k.yaml:1:3: keys must be plain words"])

        var bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1..<9 {
            let previous = level == 1 ? "a" : "a\(level - 1)"
            bomb +=
                "a\(level): &a\(level) [" + Array(repeating: "*\(previous)", count: 10).joined(separator: ", ") + "]\n"
        }
        let error = #expect(throws: ConfigError.self) { try ConfigDocument(text: bomb, file: "b.yaml") }
        #expect(error?.description.hasPrefix("b.yaml:") == true)
        #expect(error?.description.contains("aliases expand to more than") == true, "\(String(describing: error))")
    }

    @Test("an env file written on Windows is told apart past its comments, and a YAML one is still read")
    func envFileWithWindowsLineEnds() throws {
        let env = "# Managed by Ansible\r\n# Do not edit\r\nAPI_KEY=secret-value\r\n"
        let error = #expect(throws: ConfigError.self) { try ConfigDocument(text: env, file: "w.env") }
        #expect(
            error?.description
                == "w.env:3:1: this is an env file (KEY=value lines), not YAML; its contents are not shown")
        let yaml = try ConfigDocument(text: "# comment\r\ndevice: armitage\r\n", file: "w.yaml")
        #expect(yaml.root.mapping(allowedKeys: ["device"])?["device"]?.string() == "armitage")
    }
}
