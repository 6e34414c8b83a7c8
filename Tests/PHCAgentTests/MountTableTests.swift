import Foundation
import PHCTestSupport
import Testing

@testable import PHCAgent

@Suite("Mount table")
struct MountTableTests {
    @Test("node_exporter's mountinfo: escapes decoded, separators and optional fields handled")
    func nodeExporterFixture() throws {
        let entries = try MountTable.read(path: Repository.fixture("PHCAgentTests", "node_exporter-proc-1-mountinfo"))
        #expect(entries.count == 32)
        let root = try #require(entries.first { $0.mountPoint == "/" })
        #expect(root.fstype == "ext4" && root.source == "/dev/dm-2")
        #expect(root.superOptions == ["errors=remount-ro", "data=ordered"])
        #expect(!root.isReadOnly)
        let spaced = entries.filter { $0.mountPoint.contains("[vsanDatastore] bafb9e5a") }
        #expect(spaced.count == 1)
        let tabbed = entries.filter { $0.mountPoint.contains("[vsanDatastore]\tbafb9e5a") }
        #expect(tabbed.count == 1)
        let cgroup = try #require(entries.first { $0.mountPoint == "/sys/fs/cgroup" })
        #expect(cgroup.isReadOnly && cgroup.readOnlyReason == "ro")
        let bind = try #require(entries.first { $0.mountPoint == "/var/lib/containers/storage/overlay" })
        #expect(bind.root == "/var/lib/containers/storage/overlay")
        #expect(entries.contains { $0.fstype == "fuse.gvfsd-fuse" })
    }

    @Test("NFS fixture: the same export mounted twice shows as two entries on one point")
    func nfsFixture() throws {
        let entries = try MountTable.read(
            path: Repository.fixture("PHCAgentTests", "node_exporter-proc-10-mountinfo-nfs"))
        let nfs = entries.filter { $0.fstype.hasPrefix("nfs") }
        #expect(!nfs.isEmpty)
        #expect(nfs.allSatisfy { $0.superOptions.contains { $0.hasPrefix("addr=") || $0.hasPrefix("vers=") } })
    }

    @Test("emergency_ro in the superblock options counts as read-only")
    func emergencyReadOnly() {
        let text =
            "812 29 8:33 / /time rw,relatime shared:400 - exfat /dev/sdc1 rw,emergency_ro,fmask=0022\n"
            + "garbage line\n"
        let entries = MountTable.parse(text)
        #expect(entries.count == 1)
        #expect(entries[0].readOnlyReason == "emergency_ro")
        #expect(entries[0].isReadOnly)
    }

    @Test(
        "octal escapes",
        arguments: [
            ("/mnt/my\\040share", "/mnt/my share"), ("/a\\011b", "/a\tb"), ("/back\\134slash", "/back\\slash"),
            ("/no/escape", "/no/escape"), ("/bad\\9", "/bad\\9"), ("/short\\04", "/short\\04"),
        ])
    func unescape(raw: String, decoded: String) {
        #expect(MountTable.unescape(Substring(raw)) == decoded)
    }
}
