"""Pure planning: apply order, pairing desired with live objects, normal forms, inventory."""
