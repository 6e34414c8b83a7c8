import PHCCore
import Testing

@Suite("Device names")
struct DeviceNameTests {
    @Test(
        "a device name is lower-case letters, digits, '-', '_' and '.', a letter or digit first, at most 63 bytes",
        arguments: [
            ("motoko", true), ("dev-01.lab_2", true), ("0wintermute", true), ("a", true),
            (String(repeating: "a", count: 63), true), (String(repeating: "a", count: 64), false), ("", false),
            ("-motoko", false), (".motoko", false), ("_fleet", false), ("Motoko", false), ("mötoko", false),
            ("moto ko", false), ("moto/ko", false), ("moto\u{0}ko", false), ("motoko\n", false),
            ("m" + String(repeating: "é", count: 20), false),
        ])
    func validity(name: String, valid: Bool) {
        #expect(DeviceName.isValid(name) == valid)
    }
}
