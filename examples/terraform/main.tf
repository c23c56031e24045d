terraform {
  required_providers {
    openai = {
      source = "jianyuan/openai"
    }
  }
}

provider "openai" {}

variable "base_model" {
  type    = string
  default = "gpt-4o-mini-2024-07-18"
}

variable "partner_project" {
  type        = string
  description = "Project that may use the fine-tuned model"
}

locals {
  team = "support"
}

resource "openai_file" "support_train" {
  file    = "${path.module}/data/support_train.jsonl"
  purpose = "fine-tune"
}

resource "openai_fine_tuning_job" "support_bot" {
  model         = var.base_model
  training_file = openai_file.support_train.id
  suffix        = "${local.team}-v2"
  seed          = 42

  method {
    type = "supervised"
    supervised {
      hyperparameters {
        n_epochs                 = 3
        learning_rate_multiplier = 0.1
      }
    }
  }

  integrations {
    type = "wandb"
    wandb {
      project = "ft-runs"
      tags    = [local.team]
    }
  }

  metadata = {
    team = local.team
  }

  cancel_after_timeout = 7200

  lifecycle {
    prevent_destroy = true
  }
}

resource "openai_fine_tuning_checkpoint_permission" "share_support" {
  fine_tuned_model_checkpoint = openai_fine_tuning_job.support_bot.fine_tuned_model
  project_ids                 = ["proj_support", var.partner_project]
}

output "support_model" {
  value = openai_fine_tuning_job.support_bot.fine_tuned_model
}
