"""Ways of writing a document from a DocPlan. Each backend yields Document or Rejection."""
