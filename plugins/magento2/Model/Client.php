<?php
/**
 * Posts one signed event to the app; a refusal or no answer is logged, never thrown at checkout.
 */

declare(strict_types=1);

namespace FollowUp\Recovery\Model;

use Magento\Framework\HTTP\Client\CurlFactory;
use Psr\Log\LoggerInterface;

class Client
{
    public const TIMEOUT_SECONDS = 3;

    public function __construct(
        private readonly Config $config,
        private readonly Signer $signer,
        private readonly CurlFactory $curlFactory,
        private readonly LoggerInterface $logger
    ) {
    }

    /**
     * True when the app answered 2xx (accepted or already stored).
     *
     * @param array<string, mixed> $document
     */
    public function send(int|string $storeId, string $event, array $document, string $deliveryId): bool
    {
        $body = (string) json_encode($document, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
        $secret = $this->config->secret($storeId);
        $url = $this->config->eventsUrl($storeId);
        $curl = $this->curlFactory->create();
        $curl->setTimeout(self::TIMEOUT_SECONDS);
        $curl->setHeaders($this->signer->headers($secret, $event, $body, $deliveryId, time()));
        try {
            $curl->post($url, $body);
        } catch (\Exception $exception) {
            $this->logger->warning('FollowUp: could not reach the app', [
                'url' => $url, 'event' => $event, 'delivery' => $deliveryId, 'reason' => $exception->getMessage(),
            ]);
            return false;
        }
        $status = (int) $curl->getStatus();
        if ($status < 200 || $status >= 300) {
            $this->logger->warning('FollowUp: the app refused an event', [
                'url' => $url, 'event' => $event, 'delivery' => $deliveryId, 'status' => $status,
                'answer' => substr((string) $curl->getBody(), 0, 300),
            ]);
            return false;
        }
        return true;
    }
}
