"""A running Home Assistant with emulated devices: scripts/develop and the e2e tests."""
