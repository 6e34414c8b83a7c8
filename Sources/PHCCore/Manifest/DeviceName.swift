/// What a device name may look like: it becomes a folder name on the share.
public enum DeviceName {
    public static let rule = "lower-case letters, digits, '-', '_' and '.', starting with a letter or digit, at most 63"

    public static func isValid(_ name: String) -> Bool {
        // Over the bytes in one buffer: a collector checks every folder's name every pass.
        var name = name
        return name.withUTF8 { bytes in
            let isAlnum: (UInt8) -> Bool = { (97...122).contains($0) || (48...57).contains($0) }
            guard let first = bytes.first, bytes.count <= 63, isAlnum(first) else { return false }
            return bytes.allSatisfy { isAlnum($0) || $0 == 45 || $0 == 95 || $0 == 46 }
        }
    }
}
