import Foundation
import XCTest

extension XCTestCase {
    /// A path for a temporary folder named after `name` (not created), removed when the test ends.
    func scratch(_ name: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("glimpse-\(name)-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: folder) }
        return folder
    }
}
