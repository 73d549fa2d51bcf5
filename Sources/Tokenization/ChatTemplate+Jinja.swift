/// Each built-in template as a Jinja chat template, so that a model directory this tool writes
/// gives transformers users the same text pipeline.
extension ChatTemplate {
    /// Jinja text that transformers' `apply_chat_template(messages, tokenize=False,
    /// add_generation_prompt=...)` renders exactly as `render` (and, with a generation prompt,
    /// `renderPrompt`) does, given `bos_token` = `bosLiteral` and `eos_token` = `eosLiteral`.
    /// Messages are a conversation's: an optional system message first, then its turns.
    /// Checked against `render` in TokenizationTests and against transformers by
    /// Scripts/make-chat-template-fixtures.
    public var jinjaSource: String {
        switch self {
        case .deepspeedChat:
            #"""
            {{- bos_token }}
            {%- for message in messages %}
                {%- if message['role'] == 'system' %}
                    {{- message['content'] }}
                {%- elif message['role'] == 'user' %}
                    {{- ' Human: ' + message['content'] }}
                {%- else %}
                    {{- ' Assistant: ' + message['content'] + eos_token }}
                {%- endif %}
            {%- endfor %}
            {%- if add_generation_prompt %}
                {{- ' Assistant:' }}
            {%- endif %}

            """#
        case .vicuna:
            #"""
            {{- bos_token }}
            {%- if messages and messages[0]['role'] == 'system' %}
                {{- messages[0]['content'] + ' ' }}
                {%- set messages = messages[1:] %}
            {%- else %}
                {{- "\#(ChatTemplate.vicunaSystemPrompt) " }}
            {%- endif %}
            {%- for message in messages %}
                {%- if message['role'] == 'user' %}
                    {{- 'USER: ' + message['content'] + ' ' }}
                {%- else %}
                    {{- 'ASSISTANT: ' + message['content'] + eos_token }}
                {%- endif %}
            {%- endfor %}
            {%- if add_generation_prompt %}
                {{- 'ASSISTANT:' }}
            {%- endif %}

            """#
        case .llama2:
            #"""
            {{- bos_token }}
            {%- if messages and messages[0]['role'] == 'system' %}
                {%- set system_message = messages[0]['content'] %}
                {%- set messages = messages[1:] %}
            {%- endif %}
            {%- for message in messages %}
                {%- if message['role'] == 'user' %}
                    {%- if not loop.first %}
                        {{- bos_token }}
                    {%- endif %}
                    {{- '[INST] ' }}
                    {%- if loop.first and system_message is defined %}
                        {{- '<<SYS>>\n' + system_message + '\n<</SYS>>\n\n' }}
                    {%- endif %}
                    {{- message['content'] + ' [/INST]' }}
                {%- else %}
                    {{- ' ' + message['content'] + ' ' + eos_token }}
                {%- endif %}
            {%- endfor %}

            """#
        case .chatml:
            #"""
            {{- bos_token }}
            {%- for message in messages %}
                {{- '<|im_start|>' + message['role'] + '\n' + message['content'] + eos_token + '\n' }}
            {%- endfor %}
            {%- if add_generation_prompt %}
                {{- '<|im_start|>assistant\n' }}
            {%- endif %}

            """#
        case .plain:
            #"""
            {{- bos_token }}
            {%- for message in messages %}
                {%- if message['role'] == 'assistant' %}
                    {{- message['content'] + eos_token }}
                {%- else %}
                    {{- message['content'] + '\n' }}
                {%- endif %}
            {%- endfor %}

            """#
        case .raw:
            #"""
            {{- bos_token }}
            {%- for message in messages %}
                {{- message['content'] }}
                {%- if message['role'] == 'assistant' %}
                    {{- eos_token }}
                {%- endif %}
            {%- endfor %}

            """#
        }
    }
}
