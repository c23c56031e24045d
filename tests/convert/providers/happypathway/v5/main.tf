# Written for reconciler's tests from the argument names of happypathway/openai 5.x
# (internal/resources/fine_tune_resource.go, file_resource.go); see SOURCE.md.
resource "openai_file" "training_data" {
  file_path = "${path.module}/data/training_data.jsonl"
  filename  = "training_data.jsonl"
  purpose   = "fine-tune"
}

resource "openai_file" "validation_data" {
  file_path = "${path.module}/data/validation_data.jsonl"
  filename  = "validation_data.jsonl"
  purpose   = "fine-tune"
}

resource "openai_file" "knowledge" {
  file_path = "${path.module}/data/knowledge_base.pdf"
  filename  = "knowledge_base.pdf"
  purpose   = "assistants"
}

resource "openai_file" "inline" {
  filename = "inline.jsonl"
  content  = "{}"
  purpose  = "fine-tune"
}

resource "openai_fine_tune" "custom_model" {
  training_file_id   = openai_file.training_data.id
  validation_file_id = openai_file.validation_data.id
  model              = "gpt-4o-mini-2024-07-18"
  suffix             = "customer-service-assistant"
  epochs             = 4
  prompt_loss_weight = 0.01
}
