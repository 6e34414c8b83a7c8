/// Version facts of this build.
public enum PHCVersion {
    /// The PHC Health version written into every manifest.
    public static let current = "0.1.0"

    /// One line: `phc 0.1.0 (zlib 1.2.13)`. It does not load libcurl, to keep `--version` (and
    /// every command, which builds this text for its help) as quick as the rest.
    public static var summary: String {
        "phc \(current) (zlib \(Gzip.zlibVersion))"
    }
}
