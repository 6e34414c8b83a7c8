/// What a device name may look like: it becomes a folder name on the share.
public enum DeviceName {
    public static let rule = "lower-case letters, digits, '-', '_' and '.', starting with a letter or digit, at most 63"

    public static func isValid(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 63 else { return false }
        let isAlnum: (UInt8) -> Bool = { (97...122).contains($0) || (48...57).contains($0) }
        return isAlnum(first) && name.utf8.allSatisfy { isAlnum($0) || $0 == 45 || $0 == 95 || $0 == 46 }
    }
}
