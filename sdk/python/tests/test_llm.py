"""agentos.llm: the pieces every llm provider shares (no engine needed)."""
import unittest

from agentos import llm, OpError


class LLMHelpersTest(unittest.TestCase):
    def test_tool_arguments_are_always_an_object(self):
        self.assertEqual(llm.tool_arguments('{"city": "Paris"}'), {"city": "Paris"})
        self.assertEqual(llm.tool_arguments({"city": "Paris"}), {"city": "Paris"})
        self.assertEqual(llm.tool_arguments(""), {})
        self.assertEqual(llm.tool_arguments(None), {})
        self.assertEqual(llm.tool_arguments("not json"), {"_raw": "not json"})
        self.assertEqual(llm.tool_arguments("[1, 2]"), {"_raw": [1, 2]})

    def test_sse_events(self):
        body = ": a comment\nevent: message_start\ndata: {\"a\":\ndata: 1}\n\ndata: [DONE]\n\n\n"
        self.assertEqual(list(llm.sse_events(body)), [("message_start", '{"a":\n1}'), ("message", "[DONE]")])
        self.assertEqual(list(llm.sse_events("data: last without a blank line")), [("message", "last without a blank line")])

    def test_check_refuses_what_no_provider_could_send(self):
        for params in ({}, {"messages": []}, {"messages": ["hi"]}, {"messages": [{"content": "no role"}]},
                       {"messages": [{"role": "user"}], "tools": [{"description": "no name"}]}):
            with self.assertRaises(OpError) as cm:
                llm.check(params)
            self.assertEqual(cm.exception.kind, "invalid")

    def test_result_shape(self):
        r = llm.result("p", "m", "", [], None, 3)
        self.assertEqual(r, {"message": {"role": "assistant", "content": ""}, "model": "m", "provider": "p",
                             "usage": {"input_tokens": 0, "output_tokens": 3}})


if __name__ == "__main__":
    unittest.main()
