"""Running the clinic: dashboard, management and reports."""
