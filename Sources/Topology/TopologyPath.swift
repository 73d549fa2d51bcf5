import Foundation

/// How a topology's file paths (models, data, the run directory) are read: `~` expanded, and a
/// relative path taken from `base` (nil: the current directory). The validator checks the files
/// and `runPlan` hands the roles their paths by this one rule, so what was checked is what runs.
enum TopologyPath {
    static func resolve(_ path: String, against base: String?) -> String {
        let expanded = NSString(string: path).expandingTildeInPath
        guard !expanded.hasPrefix("/"), let base else { return expanded }
        return (base as NSString).appendingPathComponent(expanded)
    }
}
