<?php
/**
 * sales_quote_save_after: send cart.updated once the shopper is reachable and whenever the cart changed.
 */

declare(strict_types=1);

namespace FollowUp\Recovery\Observer;

use FollowUp\Recovery\Model\Client;
use FollowUp\Recovery\Model\Config;
use FollowUp\Recovery\Model\Payload;
use FollowUp\Recovery\Model\RestoreLink;
use Magento\Framework\App\CacheInterface;
use Magento\Framework\Event\Observer;
use Magento\Framework\Event\ObserverInterface;
use Magento\Framework\HTTP\Header;
use Magento\Quote\Model\Quote;
use Magento\Store\Model\StoreManagerInterface;
use Psr\Log\LoggerInterface;

class QuoteSaved implements ObserverInterface
{
    public const CACHE_PREFIX = 'followup_cart_';
    public const CACHE_LIFETIME = 86400;

    public function __construct(
        private readonly Config $config,
        private readonly Payload $payload,
        private readonly RestoreLink $links,
        private readonly Client $client,
        private readonly CacheInterface $cache,
        private readonly StoreManagerInterface $storeManager,
        private readonly Header $header,
        private readonly LoggerInterface $logger
    ) {
    }

    public function execute(Observer $observer): void
    {
        $quote = $observer->getEvent()->getQuote();
        if (!$quote instanceof Quote || !$quote->getId() || !$quote->getIsActive()) {
            return;
        }
        try {
            $this->sendCart($quote);
        } catch (\Throwable $error) { // a recovery tool must never break a shopper's checkout
            $this->logger->error('FollowUp: cart.updated not sent', ['quote' => $quote->getId(), 'reason' => $error->getMessage()]);
        }
    }

    private function sendCart(Quote $quote): void
    {
        $storeId = (int) $quote->getStoreId();
        $customer = $this->payload->customer($quote);
        if (!$this->config->isConfigured($storeId) || !$quote->getItemsCount()
            || (empty($customer['email']) && empty($customer['phone']))
        ) {
            return; // nobody to remind yet, or nothing to remind them of
        }
        $quoteId = (int) $quote->getId();
        $token = $this->links->token($this->config->secret($storeId), $quoteId);
        $base = (string) $this->storeManager->getStore($storeId)->getBaseUrl();
        $cart = $this->payload->cart($quote, $token, $this->links->recoveryUrl($base, $token), $this->config->locale($storeId));
        // Quotes are saved several times per page; only a changed cart or contact is news.
        $fingerprint = sha1((string) json_encode([$cart, $customer]));
        if ($this->cache->load(self::CACHE_PREFIX . $quoteId) === $fingerprint) {
            return;
        }
        $deliveryId = 'mage-quote-' . $quoteId . '-' . substr($fingerprint, 0, 16);
        $document = $this->payload->cartEvent($deliveryId, $cart, $customer, (string) $this->header->getHttpUserAgent(), time());
        if ($this->client->send($storeId, 'cart.updated', $document, $deliveryId)) {
            $this->cache->save($fingerprint, self::CACHE_PREFIX . $quoteId, [], self::CACHE_LIFETIME);
        }
    }
}
