"""Error handling: step retries, fallbacks, compensation, failed executions."""
