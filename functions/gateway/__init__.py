"""An OpenAI-compatible streaming LLM gateway for AWS Lambda."""
