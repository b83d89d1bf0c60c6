"""End-to-end tests that drive the real FiftyOne App in headless Chromium."""
