<?php
/**
 * checkout_submit_all_after: send order.placed with the quote's restore token, so the app settles the cart.
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
use Magento\Sales\Model\Order;
use Psr\Log\LoggerInterface;

class OrderPlaced implements ObserverInterface
{
    public function __construct(
        private readonly Config $config,
        private readonly Payload $payload,
        private readonly RestoreLink $links,
        private readonly Client $client,
        private readonly CacheInterface $cache,
        private readonly LoggerInterface $logger
    ) {
    }

    public function execute(Observer $observer): void
    {
        $event = $observer->getEvent();
        // One-page checkout dispatches `order`; multishipping dispatches `orders`.
        $orders = $event->getOrders() ?: [$event->getOrder()];
        foreach ($orders as $order) {
            if (!$order instanceof Order || !$order->getId()) {
                continue;
            }
            try {
                $this->sendOrder($order);
            } catch (\Throwable $error) {
                $this->logger->error('FollowUp: order.placed not sent', ['order' => $order->getId(), 'reason' => $error->getMessage()]);
            }
        }
    }

    private function sendOrder(Order $order): void
    {
        $storeId = (int) $order->getStoreId();
        if (!$this->config->isConfigured($storeId)) {
            return;
        }
        $token = $order->getQuoteId() ? $this->links->token($this->config->secret($storeId), (int) $order->getQuoteId()) : '';
        $stage = in_array((string) $order->getState(), Payload::UNPAID_STATES, true) ? 'pending' : 'placed';
        $deliveryId = 'mage-order-' . $order->getId() . '-' . $stage;
        $document = $this->payload->orderEvent($deliveryId, $order, $token, time());
        $this->client->send($storeId, 'order.placed', $document, $deliveryId);
        $this->cache->remove(QuoteSaved::CACHE_PREFIX . (int) $order->getQuoteId());
    }
}
