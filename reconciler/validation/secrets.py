"""A plain Secret with data committed to Git is an error: anyone with read access to the
repository has the credentials. Encrypted forms (SOPS-encrypted files carry a `sops` block,
SealedSecrets are their own kind) pass."""

from __future__ import annotations

from reconciler.validation.context import Context
from schemas.diagnostics import Diagnostic, Severity

RULE = "secret-in-git"


def check_secrets(context: Context) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for manifest in context.kind("Secret", ""):
        if "sops" in manifest.obj:
            continue
        for field in ("data", "stringData"):
            if manifest.obj.get(field):
                found.append(
                    Diagnostic(
                        manifest.position(f"/{field}"),
                        Severity.ERROR,
                        f"{manifest.ref}: a plain Secret with {field} is committed to Git; "
                        "encrypt it with SOPS "
                        "or use a SealedSecret (bitnami-labs/sealed-secrets)",
                        RULE,
                    )
                )
                break
    return found
