"""DCAT export routes (skeleton; filled in by the DCAT work)."""

from fastapi import APIRouter

router = APIRouter(tags=["dcat"])
