"""The objective rule (slactl.sla.objective): explicit, else the highest customer tier, else the default."""

from slactl.sla.objective import DEFAULT_OBJECTIVE, Objective, objective


def test_an_objective_set_for_the_service_wins():
    assert objective(99.5, [("acme", "gold", 99.99)]) == Objective(99.5, "service")


def test_no_customer_means_the_default():
    assert objective(None, []) == Objective(DEFAULT_OBJECTIVE, "default")
    assert DEFAULT_OBJECTIVE == 99.9


def test_the_highest_tier_among_the_customers_and_every_customer_of_it():
    users = [("zeta", "gold", 99.99), ("acme", "standard", 99.9), ("beta", "gold", 99.99)]
    assert objective(None, users) == Objective(99.99, "tier", "gold", ("beta", "zeta"))


def test_tiers_with_the_same_target_name_the_last_tier_whatever_the_order():
    users = [("a", "alpha", 99.95), ("b", "omega", 99.95)]
    assert objective(None, users) == objective(None, users[::-1]) == Objective(99.95, "tier", "omega", ("b",))
