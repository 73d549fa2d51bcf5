import Tasks
import XCTest

final class TaskCheckerTests: XCTestCase {
    private let checker = TaskChecker()

    // MARK: - Phrasings

    func testEveryPhrasing_parsesAndGivesTheRightAnswer() {
        let cases: [(String, TaskKind, String)] = [
            ("What is 23 plus 45?", .add, "68"),
            ("Add 69 and 44.", .add, "113"),
            ("Compute 0 + 7.", .add, "7"),
            ("What is 57 minus 23?", .subtract, "34"),
            ("Subtract 23 from 57.", .subtract, "34"),
            ("Compute 40 - 40.", .subtract, "0"),
            ("Reverse the words: cat dog sun", .reverse, "sun dog cat"),
            ("Write these words in reverse order: fox pen door cat cup", .reverse, "cup cat door pen fox"),
            ("Reverse the order of these words: red blue", .reverse, "blue red"),
            ("Sort these words alphabetically: sun cat dog", .sort, "cat dog sun"),
            ("Put these words in alphabetical order: ball desk lamp bird fish", .sort, "ball bird desk fish lamp"),
            ("Arrange in alphabetical order: box boat bag", .sort, "bag boat box"),
            ("How many times does the letter e appear in green?", .count, "2"),
            ("Count the letter o in the word door.", .count, "2"),
            ("In the word yellow, how many times does z appear?", .count, "0"),
        ]
        for (prompt, kind, answer) in cases {
            XCTAssertEqual(checker.kind(prompt: prompt), kind, prompt)
            XCTAssertEqual(checker.expectedAnswer(prompt: prompt), answer, prompt)
            XCTAssertEqual(checker.check(prompt: prompt, response: answer), .correct, prompt)
        }
    }

    func testPrompts_beyondTheDemoRange() {
        XCTAssertEqual(checker.expectedAnswer(prompt: "What is 123456 plus 654321?"), "777777")
        XCTAssertEqual(checker.expectedAnswer(prompt: "Compute 3 - 10."), "-7")
        XCTAssertEqual(checker.check(prompt: "Compute 3 - 10.", response: "-7"), .correct)
        XCTAssertEqual(checker.expectedAnswer(prompt: "Sort these words alphabetically: zebra aardvark mango"),
                       "aardvark mango zebra")
        XCTAssertEqual(checker.expectedAnswer(prompt: "Sort these words alphabetically: b a b"), "a b b")
        XCTAssertEqual(checker.expectedAnswer(prompt: "Count the letter s in the word mississippi."), "4")
    }

    func testPrompts_matchedLeniently() {
        XCTAssertEqual(checker.expectedAnswer(prompt: "  what IS 2   plus\t3  "), "5")
        XCTAssertEqual(checker.expectedAnswer(prompt: "Reverse the words: Cat, Dog, Sun."), "sun dog cat")
        XCTAssertEqual(checker.expectedAnswer(prompt: "How many times does the letter 'e' appear in \"green\"?"), "2")
        XCTAssertEqual(checker.expectedAnswer(prompt: "Subtract 5 from 9\n"), "4")
    }

    // MARK: - Tolerance

    func testResponses_toleratedAsAGraderWould() {
        let add = "What is 23 plus 45?"
        for response in ["68", " 68", "68\n", "68.", " 68. ", "68 .", "\t68.\n"] {
            XCTAssertEqual(checker.check(prompt: add, response: response), .correct, "\(response.debugDescription)")
        }
        let sort = "Sort these words alphabetically: sun cat dog"
        for response in ["cat dog sun", "Cat Dog Sun", "CAT DOG SUN.", "cat, dog, sun", "cat,dog,sun.", "  cat  dog\tsun "] {
            XCTAssertEqual(checker.check(prompt: sort, response: response), .correct, response.debugDescription)
        }
    }

    func testResponses_withWrongContentAreWrong() {
        let add = "What is 23 plus 45?"
        for response in ["69", "86", "22", "-68", "68 68", "6 8", "68..", "68!", "The answer is 68.",
                         "68, I think", "sixty-eight", "", " ", "."] {
            XCTAssertEqual(checker.check(prompt: add, response: response), .wrong(expected: "68"),
                           response.debugDescription)
        }
        let reverse = "Reverse the words: cat dog sun"
        for response in ["cat dog sun", "sun dog", "sun dog cat cat", "sun sun dog cat", "dog sun cat",
                         "sun dog cat bird", "sun-dog-cat", "sun dog cat!", ""] {
            XCTAssertEqual(checker.check(prompt: reverse, response: response), .wrong(expected: "sun dog cat"),
                           response.debugDescription)
        }
        let count = "Count the letter o in the word door."
        for response in ["1", "3", "0", "2 times", "two"] {
            XCTAssertEqual(checker.check(prompt: count, response: response), .wrong(expected: "2"),
                           response.debugDescription)
        }
    }

    // MARK: - Not a task

    func testNonTaskPrompts_areNotATask() {
        let prompts = [
            "", "Hello!", "Tell me a joke.", "What is the capital of France?", "What is two plus three?",
            "What is 2 plus?", "Compute 2 * 3.", "Reverse the words:", "Reverse the words: cat",
            "Sort these words alphabetically: cat 4 dog", "Count the letter ab in the word cat.",
            "Count the letter e in the word gr33n.", "What is 1234567890 plus 1?",
            "Please, what is 2 plus 3?", "What is 2 plus 3? Explain.",
        ]
        for prompt in prompts {
            XCTAssertEqual(checker.check(prompt: prompt, response: "5"), .notATask, prompt.debugDescription)
            XCTAssertNil(checker.expectedAnswer(prompt: prompt), prompt.debugDescription)
            XCTAssertNil(checker.kind(prompt: prompt), prompt.debugDescription)
            XCTAssertEqual(checker.reward(prompt: prompt, response: "5"), 0)
        }
    }

    // MARK: - Accuracy and reward

    func testAccuracy_countsCorrectResponsesOverAllPrompts() {
        let prompts = ["What is 1 plus 1?", "Reverse the words: a b", "Count the letter a in the word banana.", "Hi"]
        XCTAssertEqual(checker.accuracy(prompts: prompts, responses: ["2", "b a", "2", "2"]), 0.5)
        XCTAssertEqual(checker.accuracy(prompts: prompts, responses: ["2", "b a", "3", "x"]), 0.75)
        XCTAssertEqual(checker.accuracy(prompts: [], responses: []), 0)
    }

    func testReward_isOneForCorrectAndZeroForWrong() {
        XCTAssertEqual(checker.reward(prompt: "Compute 9 - 4.", response: "5."), 1)
        XCTAssertEqual(checker.reward(prompt: "Compute 9 - 4.", response: "13"), 0)
        XCTAssertTrue(checker.check(prompt: "Compute 9 - 4.", response: "5").isCorrect)
        XCTAssertFalse(checker.check(prompt: "Compute 9 - 4.", response: "6").isCorrect)
    }
}
