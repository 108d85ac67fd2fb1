"""The LLM pipeline on the Anthropic API: cache, limiter, executors, stages, backends."""
