"""The verdicts in tools/paper/claims.py. Claim 1: memory is compared run by run, as time is, and a
saving counts only where every pair of runs shows it (fresh runs of one configuration differ by
tens of MiB). Claim 2: the content init is faster only if it is faster under every loss."""

from __future__ import annotations

from tools.paper import claims


def measured(seconds: float, growths: list[float]) -> dict:
    return dict(seconds=seconds, peaks=[600 + g for g in growths], growths=growths, style=0.1, content=0.5)


def test_a_memory_saving_in_only_one_pair_of_runs_is_no_saving():
    verdict = claims._claim1_verdict(measured(1.0, [280, 330]), measured(1.0, [320, 325]), [1.0, 1.0])
    assert "not supported" in verdict
    assert "grew 0.88× and 1.02× as much" in verdict and "(280 and 330 against 320 and 325 MiB" in verdict


def test_a_memory_saving_in_every_pair_partly_supports_the_claim():
    verdict = claims._claim1_verdict(measured(1.0, [200, 190]), measured(1.0, [320, 300]), [1.0, 1.0])
    assert "partly supported" in verdict and "0.62× and 0.63× as much" in verdict


def test_a_faster_and_leaner_layer_set_supports_the_claim():
    verdict = claims._claim1_verdict(measured(0.5, [200]), measured(1.0, [320]), [0.5])
    assert "— supported" in verdict and "peak resident set 800 against 920 MiB" in verdict


def init_finding(loss: str, content_to_noise_final: int | None, final_ratio: float) -> claims.InitFinding:
    return claims.InitFinding(
        loss=loss, iterations=100, content_to_noise_final=content_to_noise_final, noise_to_content_final=None,
        noise_final=50.0, final_ratio=final_ratio, style_to_content_final=None,
        content_distances={"content": 0.4, "noise": 0.9, "style": 1.0},
    )  # fmt: skip


def test_claim2_holds_when_the_content_init_gets_to_noises_final_loss_sooner_under_every_loss():
    verdict = claims._claim2_verdict([init_finding("the paper's loss", 20, 3.0), init_finding("the default loss", 0, 1.5)])
    assert "Verdict on claim 2 — supported" in verdict
    assert "got there after 20 iterations (5× fewer)" in verdict and "was below that from the start" in verdict
    assert "0.4 from the content init against 0.9 from noise" in verdict


def test_claim2_fails_when_under_one_loss_the_content_init_never_gets_there():
    verdict = claims._claim2_verdict([init_finding("the paper's loss", 20, 3.0), init_finding("the default loss", None, 0.8)])
    assert "Verdict on claim 2 — not supported" in verdict and "did not get there" in verdict
