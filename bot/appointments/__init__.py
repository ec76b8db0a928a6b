"""Appointments (预约办事): stations and roaming desks, derived slots, seats held by the database, bookings."""
