"""cdp_platform: a customer data platform on Dagster."""
