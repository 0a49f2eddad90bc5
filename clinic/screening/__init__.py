"""The health screening: questionnaire, contraindication rules, consent and review."""
