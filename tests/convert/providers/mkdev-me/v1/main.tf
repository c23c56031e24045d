# ----------- FILE RESOURCES -----------
# Upload the fine-tuning data file to OpenAI
resource "openai_file" "training_file" {
  file    = "./data/fine_tune_data_v4.jsonl"
  purpose = "fine-tune"
}

# ----------- FINE-TUNING JOBS -----------
# Basic example of a fine-tuning job
resource "openai_fine_tuning_job" "basic_example" {
  model         = "gpt-4o-mini-2024-07-18"
  training_file = openai_file.training_file.id
  suffix        = "my-custom-model-v1"

  # Ensure file is created before the fine-tuning job
  depends_on = [openai_file.training_file]

  # Prevent modifications to imported resources
  lifecycle {
    ignore_changes = all
  }
}

# Example with supervised method and custom hyperparameters
resource "openai_fine_tuning_job" "supervised_example" {
  model         = "gpt-4o-mini-2024-07-18"
  training_file = openai_file.training_file.id

  # Using the new method format for hyperparameters
  method {
    type = "supervised"
    supervised {
      hyperparameters {
        n_epochs                 = 3
        batch_size               = 8
        learning_rate_multiplier = 0.1
      }
    }
  }

  # Ensure file is created before the fine-tuning job
  depends_on = [openai_file.training_file]

  # Prevent modifications to imported resources
  lifecycle {
    ignore_changes = all
  }
}

# excerpt of the same file's permission (lines 202-219), without its count and variables
resource "openai_fine_tuning_checkpoint_permission" "checkpoint_permission" {
  checkpoint_id = "ft:gpt-4o-2024-08-06:fodoj-gmbh::BGscDbx0"
  project_ids   = ["proj_BkBLUjk3B5HZM4XD0uyuypfS"]
  admin_api_key = var.admin_api_key

  lifecycle {
    ignore_changes = all
  }
}

variable "admin_api_key" {
  type      = string
  default   = ""
  sensitive = true
}

# examples/fine_tuning/data_source_examples.tf (the checkpoints example uncommented)
data "openai_fine_tuning_jobs" "all" {
  limit = 10
}

data "openai_fine_tuning_checkpoints" "example" {
  fine_tuning_job_id = "ftjob-j3Ikg9y0PHP5LzSrltydhf0P"
  limit              = 20
}

# examples/upload/README.md (v1.0.0): the job under its other type name; the module output it
# trains on is replaced by the file above, and n_epochs is a string in this resource's schema
resource "openai_fine_tuned_model" "my_model" {
  training_file = openai_file.training_file.id
  model         = "gpt-3.5-turbo"

  hyperparameters {
    n_epochs = "3"
  }
}
