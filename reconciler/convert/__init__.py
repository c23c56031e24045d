"""Migrating from Terraform: `.tf` files → spec YAML, `terraform.tfstate` → reconciler state.

    hcl.py          parse .tf files into a typed tree with line numbers (python-hcl2's grammar)
    expressions.py  HCL expressions → spec values and ${...} references
    providers.py    each public provider's (and version's) names for types, arguments, data sources
    normalize.py    one provider's block → the seeds' spelling, before mapping
    mapping.py      one resource / data block → one spec document
    check.py        what would not validate is left out (convert never writes an invalid spec)
    terraform.py    a whole configuration: modules, variables, locals, order, output files
    writer.py       YAML text and writing files
    tfstate.py      read a Terraform state (format 4) and adopt its objects into reconciler's state
    notes.py        what is reported: left out or converted with a caveat, with file and line
"""

from reconciler.convert.hcl import HclParseError, parse_file, parse_text
from reconciler.convert.mapping import Doc
from reconciler.convert.notes import Note
from reconciler.convert.terraform import Conversion, convert_terraform, write_conversion
from reconciler.convert.tfstate import AdoptedResource, AdoptReport, TerraformStateError, adopt, read_tfstate
from reconciler.convert.writer import ConvertError

__all__ = [
    "AdoptReport",
    "AdoptedResource",
    "Conversion",
    "ConvertError",
    "Doc",
    "HclParseError",
    "Note",
    "TerraformStateError",
    "adopt",
    "convert_terraform",
    "parse_file",
    "parse_text",
    "read_tfstate",
    "write_conversion",
]
