import Topology
import Training
import XCTest

/// `algorithm.reward_clip`: PPO clips at 5 by default, GRPO and RLOO leave the score raw (trl's
/// `reward_clip_range=None`); `null` turns the clip off and a number turns it on for any method.
final class RewardClipKeyTests: XCTestCase {
    private func rewardClip(_ lines: String) throws -> Double? {
        try TopologyParserTests.parse(TopologyParserTests.minimal + "\nalgorithm:\n" + lines).algorithm.rewardClip
    }

    func testRewardClip_defaultsByAlgorithm_andNullOrANumberOverrides() throws {
        XCTAssertEqual(try rewardClip("  name: ppo"), 5)
        XCTAssertNil(try rewardClip("  name: rloo"))
        XCTAssertNil(try rewardClip("  name: grpo"))
        XCTAssertNil(try rewardClip("  name: ppo\n  reward_clip: null"), "null turns PPO's clip off")
        XCTAssertEqual(try rewardClip("  name: rloo\n  reward_clip: 7.5"), 7.5, "a number turns RLOO's clip on")
    }

    func testRewardClip_notAbove0_isRefusedNamingTheKey() {
        XCTAssertThrowsError(try rewardClip("  name: rloo\n  reward_clip: 0")) { error in
            XCTAssertTrue("\(error)".contains("reward_clip"), "\(error)")
        }
    }
}
