"""Session administration: schedule, go live, end, the cart and the pin; the review afterwards."""
