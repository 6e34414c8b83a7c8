import Testing

@testable import PHCCore

@Suite("Trimming text read from files and commands")
struct StringTrimmingTests {
    @Test(
        "spaces, tabs and line ends go from both ends, Windows line ends too; the middle is kept",
        arguments: [
            ("https://discord.example/api/webhooks/1/x\r\n", "https://discord.example/api/webhooks/1/x"),
            ("\r\n\t value with  spaces \n\n", "value with  spaces"),
            ("été\r\n", "été"),
            (" \r\n\t ", ""),
            ("", ""),
            ("x", "x"),
        ])
    func trims(text: String, expected: String) {
        #expect(text.trimmed() == expected)
        #expect(Substring("[" + text + "]").dropFirst().dropLast().trimmed() == expected)
    }
}
