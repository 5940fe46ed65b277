"""The simulated world: demo data and, later, bot viewers and buyers using the real services."""
