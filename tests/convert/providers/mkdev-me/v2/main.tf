# Upload training data file
resource "openai_file" "training_data" {
  file    = "training_data.jsonl"
  purpose = "fine-tune"
}

# Upload validation data file (optional)
resource "openai_file" "validation_data" {
  file    = "validation_data.jsonl"
  purpose = "fine-tune"
}

# Create a fine-tuning job
resource "openai_fine_tuning_job" "custom_model" {
  training_file = openai_file.training_data.id
  model         = "gpt-3.5-turbo-0125" # Base model to fine-tune

  # Optional: Add validation file for better model evaluation
  validation_file = openai_file.validation_data.id

  # Optional: Configure hyperparameters
  hyperparameters {
    n_epochs                 = 3
    batch_size               = 4
    learning_rate_multiplier = 0.1
  }

  # Optional: Set a custom suffix for the fine-tuned model name
  suffix = "customer-support-v2"

  # Optional: Add metadata
  metadata = {
    department = "customer-service"
    use_case   = "support-automation"
    version    = "2.0"
    trained_by = "ml-team"
  }
}

# Create another fine-tuning job with minimal configuration

# 2.x schema (resource_openai_fine_tuning_job.go): method is an attribute, hyperparameters strings
resource "openai_fine_tuning_job" "method_example" {
  model         = "gpt-4o-mini-2024-07-18"
  training_file = openai_file.training_data.id
  seed          = "7"
  method = {
    type = "supervised"
    supervised = {
      hyperparameters = {
        n_epochs                 = "3"
        batch_size               = "auto"
        learning_rate_multiplier = "0.1"
      }
    }
  }
}
