"""The application workflow (政策通): applying, materials, reviewer routing, review and disbursement."""
