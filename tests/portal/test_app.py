async def test_health_checks(client) -> None:  # type: ignore[no-untyped-def]
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/healthz/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["database"] and body["store"] and body["captcha_pool"] >= 0
