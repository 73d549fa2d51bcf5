import Foundation
import Tensor

/// RoPE's base and scaling in `config.json`. transformers 4.x writes `rope_theta` at the top and
/// the scaling as `rope_scaling` (`{"rope_type" or "type": ..., "factor": ...}` or null); 5.x
/// writes both inside `rope_parameters` (`{"rope_type": ..., "rope_theta": ..., "factor": ...}`).
extension LlamaConfig {
    /// `rope_type` values whose frequencies this engine computes.
    static let supportedRopeTypes = ["default", "linear", "llama3"]

    /// The RoPE base (nil when the file leaves it to the default) and scaling of a config file,
    /// read as transformers 5.x reads them: a non-null `rope_scaling` wins over `rope_parameters`
    /// (4.x reads only the former), and a base inside the chosen object over the top-level one.
    static func parseRope(_ json: JSONObject) throws -> (theta: Double?, scaling: RopeScaling?) {
        let topTheta = try json.double("rope_theta")
        let parameters = try json.object("rope_parameters")
        if let parameters, parameters.values.values.contains(where: { $0 is [String: Any] }) {
            throw CheckpointError(.unsupported, path: json.path, field: "rope_parameters",
                                  "RoPE parameters per attention type are not supported")
        }
        if let old = try json.object("rope_scaling") {
            guard let type = try old.string("rope_type") ?? old.string("type") else { throw old.missing("rope_type") }
            return (try old.double("rope_theta") ?? topTheta, try ropeScaling(type: type, old, typeField: "rope_type"))
        }
        if let parameters {
            let scaling = try ropeScaling(type: try parameters.string("rope_type") ?? "default", parameters, typeField: "rope_type")
            return (try parameters.double("rope_theta") ?? topTheta, scaling)
        }
        return (topTheta, nil)
    }

    private static func ropeScaling(type: String, _ o: JSONObject, typeField: String) throws -> RopeScaling? {
        func positive(_ key: String) throws -> Double {
            guard let value = try o.double(key) else { throw o.missing(key) }
            guard value.isFinite, value > 0 else {
                throw CheckpointError(.invalidValue, path: o.path, field: o.name(key), "must be positive, found \(value)")
            }
            return value
        }
        switch type {
        case "default":
            return nil
        case "linear":
            return .linear(factor: try positive("factor"))
        case "llama3":
            let low = try positive("low_freq_factor"), high = try positive("high_freq_factor")
            guard high > low else {
                throw CheckpointError(.invalidValue, path: o.path, field: o.name("high_freq_factor"),
                                      "must be above low_freq_factor (\(low)), found \(high)")
            }
            let context = try o.int("original_max_position_embeddings")
            guard let context, context > 0 else {
                throw context == nil ? o.missing("original_max_position_embeddings")
                    : CheckpointError(.invalidValue, path: o.path, field: o.name("original_max_position_embeddings"),
                                      "must be positive, found \(context!)")
            }
            return .llama3(factor: try positive("factor"), lowFreqFactor: low, highFreqFactor: high, originalMaxPositions: context)
        default:
            throw CheckpointError(.unsupported, path: o.path, field: o.name(typeField),
                                  "RoPE scaling \(type) is not supported (supported: \(supportedRopeTypes.joined(separator: ", ")))")
        }
    }

    /// The scaling's own fields, as HF names them.
    private var ropeScalingFields: [String: Any] {
        switch ropeScaling {
        case nil:
            return ["rope_type": "default"]
        case .linear(let factor):
            return ["rope_type": "linear", "factor": factor]
        case .llama3(let factor, let low, let high, let context):
            return ["rope_type": "llama3", "factor": factor, "low_freq_factor": low, "high_freq_factor": high,
                    "original_max_position_embeddings": context]
        }
    }

    /// `rope_parameters` for 5.x readers, and `rope_scaling` for 4.x ones (null without scaling;
    /// 5.x reads it too, as the same parameters, and takes `rope_theta` from the top level).
    var ropeJSON: (parameters: [String: Any], scaling: Any) {
        var parameters = ropeScalingFields
        parameters["rope_theta"] = ropeTheta
        return (parameters, ropeScaling == nil ? NSNull() : ropeScalingFields)
    }
}
