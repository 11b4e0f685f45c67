"""The 1766 voice menu (IVR): Twilio webhooks under /ivr/, TwiML replies."""
